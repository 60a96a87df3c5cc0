#!/usr/bin/env bash
# Go-live smoke test of a running GHL Agent Hub: scripts/smoke.sh BASE_URL
#
#   1. GET  BASE_URL/health
#   2. POST BASE_URL/api/tenant/credentials   (push the tenant's GHL credentials)
#   3. POST BASE_URL/mcp/TENANT/tool/TOOL     (one tool call with the tenant's API token)
#
# Environment:
#   ADMIN_API_TOKEN    the server's ADMIN_API_TOKEN (ADMIN_TOKEN is accepted too)
#   TENANT_API_TOKEN   an API token of the tenant, made once by an owner on the tenant's
#                      "API tokens" page, in the admin, or by
#                      `manage.py create_api_token TENANT smoke` (the tenant must exist)
#   GHL_ACCESS_TOKEN   the tenant's GHL access token, and GHL_LOCATION_ID its location id
#   GHL_REFRESH_TOKEN, GHL_EXPIRES_IN   optional, pushed along when set
#   SMOKE_TENANT       the tenant's slug (default: demo)
#   SMOKE_TOOL         a contact-listing tool (default: search_contacts)
#   SMOKE_CURL_ARGS    more curl arguments, split on spaces, e.g. to reach a server by
#                      another address than DNS gives:
#                      "--connect-to hub.example.com:443:10.0.0.5:443"
#
# Secrets go to curl on stdin and in header files, never on its command line.
set -euo pipefail

BASE=${1:?usage: scripts/smoke.sh BASE_URL}
BASE=${BASE%/}
ADMIN=${ADMIN_API_TOKEN:-${ADMIN_TOKEN:-}}
TENANT=${SMOKE_TENANT:-demo}
TOOL=${SMOKE_TOOL:-search_contacts}
: "${ADMIN:?set ADMIN_API_TOKEN}"
: "${TENANT_API_TOKEN:?set TENANT_API_TOKEN (manage.py create_api_token $TENANT smoke)}"
: "${GHL_ACCESS_TOKEN:?set GHL_ACCESS_TOKEN}"
: "${GHL_LOCATION_ID:?set GHL_LOCATION_ID}"

step() { printf '== %s\n' "$*" >&2; }
json_string() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
bearer() { printf 'Authorization: Bearer %s\n' "$1"; }
read -r -a EXTRA <<<"${SMOKE_CURL_ARGS:-}"
CURL=(curl -sSf --max-time "${SMOKE_TIMEOUT:-60}" "${EXTRA[@]}")

step "health"
"${CURL[@]}" "$BASE/health"
echo

step "push credentials of $TENANT"
body="{\"tenantId\":$(json_string "$TENANT"),\"accessToken\":$(json_string "$GHL_ACCESS_TOKEN"),\"locationId\":$(json_string "$GHL_LOCATION_ID")"
[[ -n ${GHL_REFRESH_TOKEN:-} ]] && body+=",\"refreshToken\":$(json_string "$GHL_REFRESH_TOKEN")"
[[ -n ${GHL_EXPIRES_IN:-} ]] && body+=",\"expiresIn\":${GHL_EXPIRES_IN}"
body+="}"
printf '%s' "$body" | "${CURL[@]}" -X POST "$BASE/api/tenant/credentials" \
  -H @<(bearer "$ADMIN") --data-binary @-
echo

step "call $TOOL for $TENANT"
result=$(printf '{}' | "${CURL[@]}" -X POST "$BASE/mcp/$TENANT/tool/$TOOL" \
  -H @<(bearer "$TENANT_API_TOKEN") --data-binary @-)
printf '%s\n' "$result"
if ! grep -q '"isError": *false' <<<"$result"; then
  step "FAILED: the tool reported an error"
  exit 1
fi
step "OK"
