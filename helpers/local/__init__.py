"""The local host: an offline server for the OpenAI, Azure OpenAI and Azure AI Inference APIs.

It answers with real OCR (RapidOCR), speech recognition (faster-whisper) and translation
(Apertium), deterministically. Code outside this folder uses only :func:`server.ensure_started`
(``connect()`` with API_HOST=local) and :func:`server.serve_cli` (``python -m helpers serve``); the
settings (LOCAL_* variables and flags) are documented in :mod:`helpers.local.settings`. README.md
beside this file lists the modules, one line each.
"""
