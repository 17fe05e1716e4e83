"""Imports: NYC Mesh's map feed, MeshDB's bulk CSV, UISP inventory; planned purely, then applied."""
