"""Azure OpenAI (deployment path, api-version, api-key header) against a
server that refuses response_format json_schema: remedyd steps down to
json_object, once, however many calls were refused at json_schema; every
scenario and fault mode (backend_case.py)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "llm"))
from backend_case import BackendCase  # noqa: E402


class AzureOpenAI(BackendCase):
    def test_azure(self):
        def check(reqs):
            for r in reqs:
                self.assertEqual(r["path"], "/openai/deployments/remedy-gpt/chat/completions"
                                 "?api-version=2024-10-21")
            kinds = [(r["body"].get("response_format") or {}).get("type") for r in reqs]
            # json_schema was refused, then json_object for the rest.  The
            # calls made before the first refusal came back (diagnoses run
            # max_concurrent, 4, at a time) ask json_schema too, perhaps
            # arriving after a json_object one, and are asked again with
            # json_object: a refusal steps down once, never to a prompted
            # reply.
            self.assertEqual(kinds[0], "json_schema")
            self.assertEqual(set(kinds), {"json_schema", "json_object"}, kinds)
            self.assertLessEqual(kinds.count("json_schema"), 4, kinds)
            self.assertEqual(kinds[-1], "json_object")
        self.run_backend("openai", {"azure_deployment": "remedy-gpt", "api_version": "2024-10-21"},
                         ["--reject-json-schema"], check)


if __name__ == "__main__":
    unittest.main(verbosity=2)
