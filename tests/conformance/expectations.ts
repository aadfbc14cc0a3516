/**
 * How sqlbridge stands against the pinned MCP conformance suite
 * (@modelcontextprotocol/conformance, exact version in package.json).
 *
 * APPLICABLE scenarios must pass every check, except checks listed under `notTestable`: the suite
 * can only exercise those through diagnostic tools of its own "everything" server, which a database
 * server does not have. A listed check that starts passing fails the run, so the list cannot go stale.
 *
 * SKIPPED scenarios test capabilities sqlbridge does not declare (a server that does not declare a
 * capability answers its methods with -32601, which is what the spec asks), or read fixtures of the
 * suite's "everything" server (test:// resources, test_* prompts) that a database server does not have.
 */

export const APPLICABLE: Record<string, { notTestable?: Record<string, string> }> = {
  'server-initialize': {},
  'server-session-lifecycle': {},
  'server-stateless': {
    notTestable: {
      'sep-2575-server-rejects-undeclared-capability': 'needs the suite\'s diagnostic tool "test_missing_capability"',
      'sep-2575-missing-capability-http-400': 'needs the suite\'s diagnostic tool "test_missing_capability"',
      'sep-2575-http-server-no-independent-requests-on-stream':
        'needs the suite\'s diagnostic tool "test_streaming_elicitation"',
      'sep-2575-server-no-log-without-loglevel': 'needs the suite\'s diagnostic tool "test_logging_tool"'
    }
  },
  ping: {},
  'tools-list': {},
  'dns-rebinding-protection': {},
  'http-header-validation': {},
  caching: {},
  'resources-list': {},
  'prompts-list': {},
  'server-sse-polling': {},
  'server-sse-multiple-streams': {},
  'sep-2164-resource-not-found': {},
  'input-required-result-missing-input-response': {},
  'input-required-result-unsupported-methods': {},
  'input-required-result-ignore-extra-params': {},
  'input-required-result-validate-input': {}
};

const FIXTURE_TOOL = 'calls a fixture tool of the suite\'s "everything" server, which sqlbridge does not have';
const FIXTURE_RESOURCE =
  'reads a fixture resource of the suite\'s "everything" server (test://…); sqlbridge\'s resources are its tables, sqlbridge://<environment>/<schema>/<table>';
const FIXTURE_PROMPT =
  'gets a fixture prompt of the suite\'s "everything" server; sqlbridge\'s prompts are explore_database and explain_query';
const NO_SUBSCRIPTIONS =
  'sqlbridge declares no resources.subscribe capability: a table description is read when needed';
const NO_ELICITATION = 'sqlbridge never asks the user for input (no elicitation)';
const NO_TASKS = 'the tasks extension is not implemented: every tool call completes within one request';
const NO_INPUT_REQUIRED = 'sqlbridge tools never return input_required results';

export const SKIPPED: Record<string, string> = {
  'logging-set-level': 'no logging capability: sqlbridge logs to stderr (MCP logging is deprecated in 2026-07-28)',
  'completion-complete':
    'completes an argument of the suite\'s fixture prompt "test_prompt_with_arguments", which sqlbridge answers as invalid params (no such prompt)',
  'tools-call-simple-text': FIXTURE_TOOL,
  'tools-call-image': FIXTURE_TOOL,
  'tools-call-audio': FIXTURE_TOOL,
  'tools-call-embedded-resource': FIXTURE_TOOL,
  'tools-call-mixed-content': FIXTURE_TOOL,
  'tools-call-with-logging': FIXTURE_TOOL,
  'tools-call-error': FIXTURE_TOOL,
  'tools-call-with-progress': FIXTURE_TOOL,
  'tools-call-sampling': FIXTURE_TOOL,
  'tools-call-elicitation': FIXTURE_TOOL,
  'json-schema-2020-12': FIXTURE_TOOL,
  'elicitation-sep1034-defaults': NO_ELICITATION,
  'elicitation-sep1330-enums': NO_ELICITATION,
  'resources-read-text': FIXTURE_RESOURCE,
  'resources-read-binary': FIXTURE_RESOURCE,
  'resources-templates-read': FIXTURE_RESOURCE,
  'resources-subscribe': NO_SUBSCRIPTIONS,
  'resources-unsubscribe': NO_SUBSCRIPTIONS,
  'prompts-get-simple': FIXTURE_PROMPT,
  'prompts-get-with-args': FIXTURE_PROMPT,
  'prompts-get-embedded-resource': FIXTURE_PROMPT,
  'prompts-get-with-image': FIXTURE_PROMPT,
  'http-custom-header-server-validation': 'no sqlbridge tool declares x-mcp-header parameters (SEP-2243)',
  'sep-2640-skills-directory': 'the skills extension is not implemented',
  'sep-2640-skills-enumeration': 'the skills extension is not implemented',
  'sep-2640-skills-manifest': 'the skills extension is not implemented',
  'tasks-lifecycle': NO_TASKS,
  'tasks-capability-negotiation': NO_TASKS,
  'tasks-wire-fields': NO_TASKS,
  'tasks-request-state-removal': NO_TASKS,
  'tasks-mrtr-input': NO_TASKS,
  'tasks-request-headers': NO_TASKS,
  'tasks-dispatch-and-envelope': NO_TASKS,
  'tasks-status-notifications': NO_TASKS,
  'tasks-required-task-error': NO_TASKS,
  'tasks-mrtr-composition': NO_TASKS,
  'input-required-result-basic-elicitation': NO_INPUT_REQUIRED,
  'input-required-result-basic-sampling': NO_INPUT_REQUIRED,
  'input-required-result-basic-list-roots': NO_INPUT_REQUIRED,
  'input-required-result-request-state': NO_INPUT_REQUIRED,
  'input-required-result-multiple-input-requests': NO_INPUT_REQUIRED,
  'input-required-result-multi-round': NO_INPUT_REQUIRED,
  'input-required-result-non-tool-request': NO_INPUT_REQUIRED,
  'input-required-result-result-type': NO_INPUT_REQUIRED,
  'input-required-result-tampered-state': NO_INPUT_REQUIRED,
  'input-required-result-capability-check': NO_INPUT_REQUIRED
};
