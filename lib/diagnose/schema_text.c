/*
 * schema_text.c - proto/diagnosis.schema.json, compiled in so remedyd needs
 * no data files.  tests/unit/test_diagnose_reply.c checks that this copy
 * equals the file; after editing the file, update this copy.
 */
#include <stddef.h>

#include "diagnose/jschema.h"

const char diagnosis_schema_text[] =
    "{\n"
    "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
    "  \"$id\": \"https://remedy.invalid/proto/diagnosis.schema.json\",\n"
    "  \"title\": \"remedy diagnosis reply\",\n"
    "  \"description\": \"What a diagnosis backend answers for one incident. See proto/diagnosis.md.\",\n"
    "  \"type\": \"object\",\n"
    "  \"required\": [\"root_cause\", \"category\", \"explanation\", \"confidence\", \"evidence\", \"actions\"],\n"
    "  \"additionalProperties\": false,\n"
    "  \"properties\": {\n"
    "    \"root_cause\": {\"type\": \"string\", \"maxLength\": 600},\n"
    "    \"category\": {\n"
    "      \"type\": \"string\",\n"
    "      \"enum\": [\"image\", \"crash\", \"oom\", \"config\", \"probe\", \"scheduling\", \"rollout\", \"resources\", \"network\", \"other\"]\n"
    "    },\n"
    "    \"explanation\": {\"type\": \"string\", \"maxLength\": 4000},\n"
    "    \"confidence\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1},\n"
    "    \"evidence\": {\n"
    "      \"type\": \"array\",\n"
    "      \"maxItems\": 20,\n"
    "      \"items\": {\"type\": \"string\", \"maxLength\": 600}\n"
    "    },\n"
    "    \"actions\": {\n"
    "      \"type\": \"array\",\n"
    "      \"minItems\": 0,\n"
    "      \"maxItems\": 3,\n"
    "      \"items\": {\n"
    "        \"type\": \"object\",\n"
    "        \"required\": [\"target\", \"patch_type\", \"patch\", \"risk\", \"summary\"],\n"
    "        \"additionalProperties\": false,\n"
    "        \"properties\": {\n"
    "          \"target\": {\n"
    "            \"type\": \"object\",\n"
    "            \"required\": [\"kind\", \"namespace\", \"name\"],\n"
    "            \"additionalProperties\": false,\n"
    "            \"properties\": {\n"
    "              \"kind\": {\"type\": \"string\", \"enum\": [\"Deployment\", \"StatefulSet\", \"DaemonSet\", \"CronJob\", \"Pod\", \"Service\"]},\n"
    "              \"namespace\": {\"type\": \"string\", \"maxLength\": 63},\n"
    "              \"name\": {\"type\": \"string\", \"maxLength\": 253}\n"
    "            }\n"
    "          },\n"
    "          \"patch_type\": {\"type\": \"string\", \"enum\": [\"json-patch\", \"merge-patch\"]},\n"
    "          \"patch\": {\n"
    "            \"type\": [\"array\", \"object\"],\n"
    "            \"minItems\": 1,\n"
    "            \"maxItems\": 32,\n"
    "            \"items\": {\n"
    "              \"type\": \"object\",\n"
    "              \"required\": [\"op\", \"path\"],\n"
    "              \"additionalProperties\": false,\n"
    "              \"properties\": {\n"
    "                \"op\": {\"type\": \"string\", \"enum\": [\"add\", \"remove\", \"replace\", \"test\"]},\n"
    "                \"path\": {\"type\": \"string\", \"maxLength\": 256},\n"
    "                \"value\": {}\n"
    "              }\n"
    "            }\n"
    "          },\n"
    "          \"risk\": {\"type\": \"string\", \"enum\": [\"low\", \"medium\", \"high\"]},\n"
    "          \"summary\": {\"type\": \"string\", \"maxLength\": 300}\n"
    "        }\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "}\n";

json_t *
diagnosis_schema(void)
{
	static json_t	*schema;

	if (schema == NULL)
		schema = json_loads(diagnosis_schema_text, 0, NULL);
	return schema;
}
