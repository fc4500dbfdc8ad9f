"""Loopback fakes of the push gateways: small real HTTP servers answering with each gateway's
documented bodies, status codes and headers, for the adapter and dispatcher tests and the bench."""
