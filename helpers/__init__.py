"""Shared helpers of the multimodal chat workbook: hosts, attachments, encoders, token estimates.

``import helpers`` is cheap: each public name is imported from its module on first use, so a
script that only counts tokens never loads openai, azure, PyMuPDF, PyAV or numpy. The public
names are listed once, in ``__init__.pyi`` beside this file, which lazy_loader reads at run time
and editors and type checkers read as the package's stub.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
