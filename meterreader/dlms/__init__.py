"""Sans-IO DLMS/COSEM protocol layers: A-XDR, HDLC, wrapper, xDLMS APDUs, security.

Nothing in this package performs I/O, reads a clock or draws random numbers: every layer is fed
bytes and returns events and bytes to send (see ../shared/STYLE.md §1).
"""
