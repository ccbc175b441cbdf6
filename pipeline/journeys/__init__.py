"""Patient journeys: treatment timelines read into one event table per cohort, and lines of therapy.

Readers (:mod:`pipeline.journeys.readers`) turn cBioPortal timelines and TCGA Biotab tables into
raw event rows; :mod:`pipeline.journeys.events` harmonizes them (days, agents, hashed patient ids,
quarantine); :mod:`pipeline.journeys.lines` derives lines of therapy by documented rules;
:mod:`pipeline.journeys.meds` exports the events in the MEDS data schema.
"""
