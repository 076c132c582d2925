"""OpenAI chat completions (response_format json_schema) against the test LLM
server: every scenario and fault mode, the secret corpus (backend_case.py)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "llm"))
from backend_case import BackendCase  # noqa: E402


class OpenAI(BackendCase):
    def test_openai(self):
        self.run_backend("openai")


if __name__ == "__main__":
    unittest.main(verbosity=2)
