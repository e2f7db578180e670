"""The CLI sub-commands: each module registers its parser and imports heavy libraries only when run."""
