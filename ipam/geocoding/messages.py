"""MeshDB's answers about addresses, shared by every geocoder and the join form."""

# MeshDB's answers for addresses it cannot take (`meshapi/views/forms.py`), word for word,
# because the join form shows them to the member.
INVALID_ADDRESS = (
    "Your address is invalid. Please double-check your address or contact "
    "support@nycmesh.net for assistance."
)
UNSUPPORTED_ADDRESS = (
    "Non-NYC registrations are not supported at this time. "
    "Please double-check your address, or contact support@nycmesh.net"
)
LOOKUP_FAILED = (
    "Your address could not be validated at this time. Please try again later, "
    "or contact support@nycmesh.net"
)
