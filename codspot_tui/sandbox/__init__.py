"""A local carrier that simulates parcel journeys over HTTP, for the demo and the tests."""
