"""Ollama /api/chat with a format schema against the test LLM server: every
scenario and fault mode, the secret corpus (backend_case.py)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "llm"))
from backend_case import BackendCase  # noqa: E402


class Ollama(BackendCase):
    def test_ollama(self):
        self.run_backend("ollama")


if __name__ == "__main__":
    unittest.main(verbosity=2)
