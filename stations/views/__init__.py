"""Views of the one desk, one module per topic: desk (home, workers, leave, notifications),
requests (staff pages), public (residents' own requests and tracking), visits (walking service)."""
