"""Hỏi đáp Đảng bộ Khối: a cited Vietnamese Q&A bot about Đảng bộ Khối các cơ quan Trung ương."""

__version__ = "0.1.0"
