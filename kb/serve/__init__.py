"""The matching service (`kb serve`, DESIGN §6b): one verified release behind HTTP — `POST /match`,
`GET /release`, health and Prometheus metrics, and HL7 CDS Hooks 2.0 services — swapped forward
only to newer releases that verify.

May import: `kb.release` (verification), `kb.matching`, `kb.model`, `kb.errors`, and the web
stack (FastAPI, uvicorn, PyJWT, prometheus-client, httpx). Only `kb.cli` imports it.
"""
