//! RFC 2787 VRRP-MIB (`mib-2.68`), as keepalived serves it (`vrrp_snmp.c`).
