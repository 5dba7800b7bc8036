using Raft.Transport.Grpc.Client;

namespace Raft.Transport.Grpc.Tests;

public sealed class OptionsTests
{
    public static TheoryData<string, Action<GrpcTransportOptions>, string> Invalid => new()
    {
        { "no cluster id", o => o.ClusterId = "", "ClusterId must be set" },
        { "no node id", o => o.NodeId = " ", "NodeId must be set" },
        { "id with a space", o => o.NodeId = "node 1", "printable ASCII" },
        { "listen address without port", o => o.ListenAddress = "127.0.0.1", "host:port" },
        { "peer address garbage", o => o.Peers["b"] = "not an address", "Peers['b']" },
        { "peer address with port 0", o => o.Peers["b"] = "127.0.0.1:0", "Peers['b']" },
        { "tiny message limit", o => o.MaxMessageBytes = 1000, "MaxMessageBytes must be at least 64 KiB" },
        { "entries above message limit", o => o.MaxEntriesBytes = o.MaxMessageBytes, "below MaxMessageBytes" },
        { "zero queue", o => o.PerPeerQueueCapacity = 0, "PerPeerQueueCapacity" },
        { "chunk above message limit", o => o.SnapshotChunkBytes = o.MaxMessageBytes, "SnapshotChunkBytes" },
        { "backoff upside down", o => { o.ReconnectBackoffMin = TimeSpan.FromSeconds(5); o.ReconnectBackoffMax = TimeSpan.FromSeconds(1); }, "must not be below ReconnectBackoffMin" },
        { "infinite connect timeout", o => o.ConnectTimeout = Timeout.InfiniteTimeSpan, "ConnectTimeout must be a positive, finite" },
        { "missing certificate file", o => o.Tls = new() { CertificatePath = "/nonexistent/node.pfx" }, "does not exist" },
        { "tls without certificate", o => o.Tls = new(), "needs this node's certificate" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_AnInvalidSetting_SaysWhatToFix(string because, Action<GrpcTransportOptions> breakIt, string expected)
    {
        var options = Valid();
        breakIt(options);

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{because}: '{error.Message}' should contain '{expected}'");
    }

    [Fact]
    public void Validate_TheDefaultsWithIds_Pass()
    {
        Valid().Validate();
    }

    [Fact]
    public void Transport_CopiesItsOptions_SoLaterChangesHaveNoEffect()
    {
        var options = Valid();
        var transport = new GrpcRaftTransport(options);

        options.Peers["c"] = "127.0.0.1:9";

        Assert.Equal(["b"], transport.Peers.Keys);
        Assert.Equal(new Uri("http://127.0.0.1:5002"), transport.Peers["b"]);
    }

    [Fact]
    public void ClientOptions_WithoutEndpoints_SayWhatToFix()
    {
        var error = Assert.Throws<ArgumentException>(() => new GrpcRaftClient(new GrpcRaftClientOptions { ClusterId = "c" }));

        Assert.Contains("Endpoints must list at least one node address", error.Message, StringComparison.Ordinal);
    }

    private static GrpcTransportOptions Valid() => new()
    {
        ClusterId = "c",
        NodeId = "a",
        Peers = new Dictionary<string, string> { ["a"] = "127.0.0.1:5001", ["b"] = "127.0.0.1:5002" },
    };
}
