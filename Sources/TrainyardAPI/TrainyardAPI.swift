// TrainyardAPI: the types and the client generated from openapi/trainyard.yaml (the `openapi.yaml` symlink beside this
// file) by the swift-openapi-generator build plugin, and the one mapping between them and Core's types (`JobSpecWire`,
// `AgentWire`). TrainyardServer generates the server stubs over them; the SDK (Trainyard) and the agent use the client.
// Nothing generated is committed.
