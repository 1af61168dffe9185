//! RFC 6527 VRRPV3-MIB (`mib-2.207`), as keepalived serves it (`vrrp_snmp.c`).
