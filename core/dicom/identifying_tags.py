"""Header attributes that identify a patient, a person or a place, beyond the one flagged.

A reviewer deciding "No Issue" on a flagged tag should see what else in the
same header still names someone: a residual identifier is what "Needs Metadata
Update" is for. The list follows the attributes that DICOM's Basic Application
Level Confidentiality Profile (PS3.15 Annex E, Table E.1-1) removes, blanks or
replaces because they name or describe a person, an institution, a date or a
place, or hold free text. UIDs are left out (they link, they do not name), and
so are private tags (the profile removes them all; the header pane already
names each private tag's creator). A marked tag is a prompt to look, not a
verdict: a date or a description may be allowed by the study's own rules.
"""

from __future__ import annotations

PERSON = frozenset({
    "PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "OtherPatientIDsSequence",
    "PatientBirthName", "PatientMotherBirthName", "PatientBirthDate", "PatientBirthTime", "PatientAge",
    "PatientAddress", "PatientTelephoneNumbers", "PatientTelecomInformation", "MilitaryRank", "BranchOfService",
    "MedicalRecordLocator", "EthnicGroup", "Occupation", "AdditionalPatientHistory", "PatientComments",
    "PatientReligiousPreference", "CountryOfResidence", "RegionOfResidence", "ResponsiblePerson",
    "ResponsibleOrganization", "MedicalAlerts", "Allergies", "LastMenstrualDate", "SpecialNeeds",
    "PatientState", "AdmittingDiagnosesDescription", "AdmissionID", "IssuerOfPatientID",
    "PatientInsurancePlanCodeSequence",
})

OTHER_PEOPLE = frozenset({
    "ReferringPhysicianName", "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence", "PhysiciansOfRecord", "PhysiciansOfRecordIdentificationSequence",
    "PerformingPhysicianName", "PerformingPhysicianIdentificationSequence", "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence", "OperatorsName", "OperatorIdentificationSequence",
    "RequestingPhysician", "ScheduledPerformingPhysicianName", "ContentCreatorName", "VerifyingObserverName",
    "PersonName", "OrderEnteredBy", "OrderEntererLocation", "OrderCallbackPhoneNumber", "ReviewerName",
})

PLACE_AND_DEVICE = frozenset({
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "InstitutionCodeSequence",
    "StationName", "DeviceSerialNumber", "PlateID", "CassetteID", "GantryID", "DetectorID",
    "ScheduledStationName", "PerformedStationName", "PerformedLocation", "ScheduledProcedureStepLocation",
    "CurrentPatientLocation", "PatientInstitutionResidence",
})

# Dates, not times: a time of day names no one once the date is gone, and listing
# eight time tags per file would bury the names a reviewer is looking for.
DATES_AND_ORDERS = frozenset({
    "StudyDate", "SeriesDate", "AcquisitionDate", "AcquisitionDateTime", "ContentDate", "OverlayDate",
    "CurveDate", "AccessionNumber", "StudyID", "PerformedProcedureStepID", "PerformedProcedureStepStartDate",
    "RequestedProcedureID", "PlacerOrderNumberImagingServiceRequest", "FillerOrderNumberImagingServiceRequest",
})

FREE_TEXT = frozenset({
    "StudyDescription", "SeriesDescription", "ImageComments", "StudyComments", "RequestedProcedureDescription",
    "PerformedProcedureStepDescription", "ScheduledProcedureStepDescription", "ProtocolName",
    "DerivationDescription", "FrameComments", "AcquisitionComments", "ReasonForStudy", "RequestAttributesSequence",
    "TextString", "TextValue", "VisitComments", "InterpretationText", "Impressions",
})

# Most telling first: the order a reviewer reads the summary in.
GROUPS = (PERSON, OTHER_PEOPLE, PLACE_AND_DEVICE, DATES_AND_ORDERS, FREE_TEXT)
IDENTIFYING = frozenset().union(*GROUPS)


def rank(keyword: str) -> int:
    """0 for the patient's own attributes, up to 4 for free text; 5 when not listed."""
    return next((n for n, group in enumerate(GROUPS) if keyword in group), len(GROUPS))


def is_identifying(keyword: str, value: str, vr: str = "") -> bool:
    """Whether a header row names or dates someone: a listed attribute that holds a value."""
    if keyword not in IDENTIFYING or not value.strip():
        return False
    return not (vr == "SQ" and value.startswith("<sequence of 0 "))
