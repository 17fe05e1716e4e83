"""Several daemons sharing the targets: who may poll what, and leases on what each polls."""
