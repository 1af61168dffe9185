//! KEEPALIVED-MIB `keepalived.2`: the VRRP tables (`vrrp_snmp.c`).
