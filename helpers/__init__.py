"""Shared helpers of the multimodal chat workbook."""
