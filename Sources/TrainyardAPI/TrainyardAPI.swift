// TrainyardAPI: the types generated from openapi/trainyard.yaml (the `openapi.yaml` symlink beside this file) by the
// swift-openapi-generator build plugin. TrainyardServer generates the server stubs and Trainyard the client over them.
// Nothing generated is committed.
