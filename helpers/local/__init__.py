"""The local host: an offline server for the OpenAI, Azure OpenAI and Azure AI Inference APIs.

It answers with real OCR (RapidOCR), speech recognition (faster-whisper) and translation
(Apertium), deterministically. Other modules use only :func:`server.ensure_started` and
:func:`server.serve_cli`; the settings (LOCAL_* variables and flags) are documented in
:mod:`helpers.local.settings`.

Modules: ``settings`` (configuration), ``app`` (routes, one core), ``protocol`` (parse and
validate), ``media`` (images and audio: decode, check, cost), ``model`` (compose answers),
``perception`` (OCR, speech, translation), ``imagefacts`` (size, format, colours), ``tokenizer``
(text tokens), ``render`` (JSON and SSE), ``errors`` (the one error helper), ``ratelimit``
(limits and faults), ``server`` (run it). README.md lists them too.
"""
