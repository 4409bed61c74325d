"""The HTTP side: the OpenAI-compatible API, upstream calls, auth, audit and management
endpoints, the inspector, and the `selfmodel` command. Build the app with
`proxy.app.create_app(config)`."""
