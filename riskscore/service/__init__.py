"""The gRPC edge: request validation, servicers, error mapping, server factory."""
