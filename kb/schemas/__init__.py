"""JSON Schemas shipped with kb: kb.schema.json (a release's kb.json) and patient.schema.json."""
