"""What the service tells the world: auth events and metrics."""
