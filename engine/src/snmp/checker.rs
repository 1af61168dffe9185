//! KEEPALIVED-MIB `keepalived.3`: the checker tables (`check_snmp.c`).
