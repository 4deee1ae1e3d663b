"""The web console at `/` (issue 19): server-rendered pages for clerks, leaders, archivists and
operators, signed in as people (axis.service.users), over the same service layer as the API."""
