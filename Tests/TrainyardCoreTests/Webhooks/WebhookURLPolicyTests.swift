import Testing
import TrainyardCore

/// Addresses as values and the webhook address policy: every refused range, the addresses IPv6 carries IPv4 in, the
/// operator's allow-list, and the messages a subscription's owner reads.
struct WebhookURLPolicyTests {
    @Test(arguments: [
        ("127.0.0.1", SpecialUse.loopback), ("127.255.0.9", .loopback), ("::1", .loopback),
        ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified), ("::", .unspecified),
        ("10.0.0.5", .privateUse), ("172.16.0.1", .privateUse), ("172.31.255.255", .privateUse), ("192.168.1.1", .privateUse),
        ("100.64.0.1", .sharedAddressSpace), ("100.127.255.254", .sharedAddressSpace),
        ("169.254.0.1", .linkLocal), ("fe80::1", .linkLocal), ("fe90::1", .linkLocal), ("febf:ffff::1", .linkLocal),
        ("169.254.169.254", .cloudMetadata), ("fd00:ec2::254", .cloudMetadata), ("169.254.170.2", .cloudMetadata), ("168.63.129.16", .cloudMetadata),
        ("fc00::1", .uniqueLocal), ("fdff:ffff::1", .uniqueLocal), ("fec0::1", .siteLocal),
        ("224.0.0.1", .multicast), ("239.255.255.250", .multicast), ("ff02::1", .multicast), ("255.255.255.255", .broadcast),
        ("240.0.0.1", .reserved), ("192.0.0.170", .reserved), ("198.18.0.1", .reserved), ("192.0.2.1", .reserved), ("2001:db8::1", .reserved),
        ("100::1", .reserved), ("64:ff9b:1::1", .reserved),
    ])
    func everySpecialRangeIsRefusedByDefault(address text: String, use: SpecialUse) throws {
        let address = try #require(IPAddress(text))
        #expect(address.specialUse == use)
        let refusal = WebhookURLPolicy().refusal(host: text, address: address)
        #expect(refusal == .address(host: text, address: address, carried: nil, use: use))
        #expect(refusal?.rule == "address")
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "11.0.0.1", "2606:4700::1111", "2a00:1450::1", "fe7f::1"])
    func ordinaryAddressesPass(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.specialUse == nil)
        #expect(WebhookURLPolicy().refusal(host: text, address: address) == nil)
    }

    @Test(arguments: [
        ("::ffff:127.0.0.1", IPv4Carrier.mapped, "127.0.0.1", SpecialUse.loopback),
        ("::ffff:7f00:1", .mapped, "127.0.0.1", .loopback),
        ("::ffff:169.254.169.254", .mapped, "169.254.169.254", .cloudMetadata),
        ("::10.0.0.1", .compatible, "10.0.0.1", .privateUse),
        ("::ffff:0:192.168.0.1", .translated, "192.168.0.1", .privateUse),
        ("64:ff9b::a9fe:a9fe", .nat64, "169.254.169.254", .cloudMetadata),
        ("64:ff9b::127.0.0.1", .nat64, "127.0.0.1", .loopback),
        ("2002:7f00:1::", .sixToFour, "127.0.0.1", .loopback),
        ("2002:a00:1:5::1", .sixToFour, "10.0.0.1", .privateUse),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", .teredo, "127.0.0.1", .loopback),
    ])
    func anIPv6AddressIsJudgedByTheIPv4AddressItCarries(text: String, carrier: IPv4Carrier, v4: String, use: SpecialUse) throws {
        let address = try #require(IPAddress(text))
        let carried = try #require(address.carriedIPv4)
        #expect(carried.carrier == carrier && carried.address == IPAddress(v4))
        let refusal = WebhookURLPolicy().refusal(host: text, address: address)
        #expect(refusal == .address(host: text, address: address, carried: (carrier, try #require(IPAddress(v4))), use: use))
    }

    @Test func anIPv6AddressCarryingAPublicIPv4AddressPasses() throws {
        for text in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"] {
            #expect(WebhookURLPolicy().refusal(host: text, address: try #require(IPAddress(text))) == nil, "\(text)")
        }
    }

    @Test func theAllowListAdmitsItsNetworksAndTheIPv6FormsOfItsIPv4Addresses() throws {
        let policy = WebhookURLPolicy(allowedNetworks: [try #require(IPNetwork("127.0.0.0/8")), try #require(IPNetwork("fd12::/16"))])
        for allowed in ["127.0.0.1", "127.9.9.9", "::ffff:127.0.0.1", "fd12:3456::1"] {
            #expect(policy.refusal(host: allowed, address: try #require(IPAddress(allowed))) == nil, "\(allowed)")
        }
        for refused in ["::1", "10.0.0.1", "169.254.169.254", "fd13::1"] {
            #expect(policy.refusal(host: refused, address: try #require(IPAddress(refused))) != nil, "\(refused)")
        }
    }

    @Test func aHostIsPinnedToItsFirstIPv4AddressAndRefusedWholeWhenAnyAddressIsRefused() throws {
        let policy = WebhookURLPolicy()
        let public4 = try #require(IPAddress("93.184.216.34")), public6 = try #require(IPAddress("2606:2800::1"))
        #expect(try policy.check(host: "example.com", addresses: [public6, public4]).get() == public4)
        #expect(try policy.check(host: "example.com", addresses: [public6]).get() == public6)
        let loopback = try #require(IPAddress("127.0.0.1"))
        let rebinding = policy.check(host: "rebind.example", addresses: [public4, loopback])
        #expect(rebinding == .failure(.address(host: "rebind.example", address: loopback, carried: nil, use: .loopback)))
        #expect(policy.check(host: "nothing.example", addresses: []) == .failure(.unresolvable(host: "nothing.example")))
    }

    @Test func refusalsSayWhatTheAddressIsAndWhichSettingAllowsIt() throws {
        let policy = WebhookURLPolicy()
        let loopback = try #require(IPAddress("127.0.0.1"))
        #expect(
            policy.refusal(host: "localhost", address: loopback)?.description
                == "webhook target localhost resolves to 127.0.0.1, a loopback address; allowed only with TRAINYARD_WEBHOOK_ALLOWED_NETWORKS naming it (e.g. 127.0.0.1/32)")
        #expect(
            policy.refusal(host: "127.0.0.1", address: loopback)?.description
                == "webhook target 127.0.0.1 is a loopback address; allowed only with TRAINYARD_WEBHOOK_ALLOWED_NETWORKS naming it (e.g. 127.0.0.1/32)")
        let mapped = try #require(IPAddress("[::ffff:127.0.0.1]"))
        #expect(
            policy.refusal(host: "[::ffff:127.0.0.1]", address: mapped)?.description
                == "webhook target ::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1, a loopback address; allowed only with TRAINYARD_WEBHOOK_ALLOWED_NETWORKS naming it (e.g. 127.0.0.1/32)")
        #expect(policy.refusal(scheme: "ftp", host: "example.com")?.description == "the URL must be http:// or https://")
        #expect(policy.refusal(scheme: "https", host: "") == .noHost && policy.refusal(scheme: "HTTPS", host: "hooks.example.com") == nil)
        #expect(WebhookTargetRefusal.unresolvable(host: "x.invalid").description == "the host x.invalid does not resolve from this server")
    }

    @Test func addressesParseStrictlyAndPrintCanonically() throws {
        let cases = [
            ("1.2.3.4", "1.2.3.4"), ("::", "::"), ("::1", "::1"), ("FE80::0:1", "fe80::1"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"), ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"), ("::7f00:1", "::7f00:1"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1::", "1::"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ]
        for (text, canonical) in cases {
            #expect(IPAddress(text)?.description == canonical, "\(text)")
        }
        for bad in ["127.1", "0x7f.0.0.1", "2130706433", "127.000.000.001", "01.2.3.4", "1.2.3.256", "1.2.3.4.5", "", "localhost", ":::", "1:2:3:4:5:6:7:8:9",
                    "1::2::3", "12345::", "fe80::1%eth0", "::ffff:1.2.3", "1.2.3.4:80"] {
            #expect(IPAddress(bad) == nil, "\(bad) parsed")
        }
        #expect(IPAddress(bytes: [127, 0, 0, 1]) == IPAddress("127.0.0.1"))
        #expect(IPAddress(bytes: [UInt8](repeating: 0, count: 15) + [1]) == IPAddress("::1"))
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress("fd00:ec2::254")?.bytes == [0xFD, 0, 0x0E, 0xC2] + [UInt8](repeating: 0, count: 10) + [0x02, 0x54])
    }

    @Test func networksParseAndContainTheirAddressesOnly() throws {
        func ip(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }
        let net = try #require(IPNetwork("10.1.2.3/8"))
        let (inside, outside, mapped, anywhere) = (try ip("10.255.0.1"), try ip("11.0.0.1"), try ip("::ffff:10.0.0.1"), try ip("8.8.8.8"))
        #expect(net.description == "10.0.0.0/8")
        #expect(net.contains(inside) && !net.contains(outside) && !net.contains(mapped))
        #expect(IPNetwork("::1")?.description == "::1/128" && IPNetwork("0.0.0.0/0")?.contains(anywhere) == true)
        let link = try #require(IPNetwork("fe80::/10"))
        let (lastLinkLocal, siteLocal, low65) = (try ip("febf::1"), try ip("fec0::1"), try ip("2001:db8::7fff:0:0:1"))
        #expect(link.contains(lastLinkLocal) && !link.contains(siteLocal))
        #expect(IPNetwork("2001:db8::/65")?.contains(low65) == true)
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "x/8", "10.0.0.0/8/8"] {
            #expect(IPNetwork(bad) == nil, "\(bad) parsed")
        }
    }
}
