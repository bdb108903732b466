# 2025-09-12 10:18:02 by RouterOS 7.15
/interface pppoe-client
add add-default-route=yes disabled=no interface=ether1 name=pppoe-out1 password=gfVo4rX3cTG=52 user=1wwg@isp.example.net
/interface wireless security-profiles
set [ find default=yes ] supplicant-identity=MikroTik
add authentication-types=wpa2-psk mode=dynamic-keys name=warehouse supplicant-identity="" wpa2-pre-shared-key=Granite-Thunder45
/ip ipsec peer
add address=198.51.100.7/32 name=hq-peer
