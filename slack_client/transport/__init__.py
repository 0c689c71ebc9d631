"""The Web API: the client every call goes through, the scheduler that budgets calls by
Slack's limits, the errors Slack's refusals become, reading threads and files.

It imports no other sub-package of slack_client."""
