"""The Bolt app and its listeners: they parse a payload into slack_client's types, call the
`Backend` protocols and return. Nothing else in slack_client imports them."""
