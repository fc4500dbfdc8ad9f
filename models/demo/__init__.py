"""Demo data, loaded by `enterprise-desk demo` (server.cli) and the tests: the fictional county
清河县 (county) with its demands, visits, service points and agency requests, and the large
synthetic data sets for load tests (scale, scale_people, scale_story)."""
