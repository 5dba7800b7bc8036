using System.Net;
using Raft.Transport.Grpc.Security;

namespace Raft.Transport.Grpc;

/// <summary>Configuration of a <see cref="GrpcRaftTransport"/> and of the server that receives its peers' calls.</summary>
/// <remarks>
/// <para>
/// <see cref="Validate"/> is called by every consumer; its messages name the setting to fix. The transport copies
/// what it needs when it is created, so changing an options object afterwards has no effect (use
/// <see cref="GrpcRaftTransport.SetPeer"/> to change peers at run time).
/// </para>
/// <para>
/// Sizes: a Raft message on the wire must fit <see cref="MaxMessageBytes"/> and its entries <see cref="MaxEntriesBytes"/>;
/// both sides enforce them. Keep <c>RaftOptions.MaxSizePerMessage</c> and <c>RaftOptions.MaxEntrySize</c> below
/// <see cref="MaxEntriesBytes"/>, or the leader produces appends that the transport drops (and logs) every time.
/// </para>
/// </remarks>
public sealed class GrpcTransportOptions
{
    /// <summary>Identifies the cluster; calls that carry another cluster id are refused. Required.</summary>
    public string ClusterId { get; set; } = "";

    /// <summary>This node's Raft id; sent with every call. Required.</summary>
    public string NodeId { get; set; } = "";

    /// <summary>
    /// Identifies the initial configuration the node was started with (<c>RaftOptions.Voters</c>, which is not in the
    /// log), for example a hash of it; null (the default) sends and checks nothing. When set, it is sent on every
    /// node-to-node call, and a call from a node started with another one is refused: two nodes that count majorities
    /// over different initial voters must not take part in one group. A caller that sends none (a build without this
    /// setting) is accepted, so that a cluster can be upgraded one node at a time.
    /// </summary>
    public string? InitialConfigurationId { get; set; }

    /// <summary>
    /// Where the standalone <see cref="Hosting.GrpcRaftServer"/> listens, as <c>host:port</c> (an IP address or
    /// <c>localhost</c>; port 0 picks a free port). Defaults to <c>127.0.0.1:0</c>, plaintext HTTP/2 on loopback.
    /// A server hosted inside an ASP.NET Core application listens where that application's Kestrel does.
    /// </summary>
    public string ListenAddress { get; set; } = "127.0.0.1:0";

    /// <summary>
    /// The other nodes: node id → address, as <c>host:port</c> or a full <c>http://</c>/<c>https://</c> URI. An entry
    /// for <see cref="NodeId"/> itself is ignored. Only these nodes may call this one.
    /// </summary>
    public IDictionary<string, string> Peers { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>TLS for both directions; null (the default) means plaintext HTTP/2 (h2c), for loopback and trusted networks.</summary>
    public GrpcTlsOptions? Tls { get; set; }

    /// <summary>Largest protobuf message (one batch of Raft messages, or one snapshot chunk) sent or accepted. Defaults to 32 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Largest total of entry payload bytes in one Raft message, sent or accepted. Defaults to 24 MiB.</summary>
    public int MaxEntriesBytes { get; set; } = 24 * 1024 * 1024;

    /// <summary>Messages queued for one peer before new ones are dropped and the peer reported unreachable. Defaults to 4096.</summary>
    public int PerPeerQueueCapacity { get; set; } = 4096;

    /// <summary>A batch is closed once it holds this many bytes (it always holds at least one message). Defaults to 1 MiB.</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>Most Raft messages in one batch. Defaults to 512.</summary>
    public int MaxBatchMessages { get; set; } = 512;

    /// <summary>Bytes of snapshot data per chunk; must be well below <see cref="MaxMessageBytes"/>. Defaults to 1 MiB.</summary>
    public int SnapshotChunkBytes { get; set; } = 1024 * 1024;

    /// <summary>First wait before reconnecting a broken peer stream; doubles up to <see cref="ReconnectBackoffMax"/>. Defaults to 50 ms.</summary>
    public TimeSpan ReconnectBackoffMin { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest wait between reconnection attempts. Defaults to 2 s.</summary>
    public TimeSpan ReconnectBackoffMax { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long opening a peer stream (TCP, TLS, and the peer's acceptance) may take. Defaults to 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Idle time after which an HTTP/2 ping checks that a peer connection is alive. Defaults to 10 s.</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a keep-alive ping may go unanswered before the connection is closed as dead. Defaults to 5 s.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline of a client call that a follower forwards to its leader. Defaults to 10 s.</summary>
    public TimeSpan ForwardTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting to fix when the options are inconsistent.</summary>
    /// <exception cref="ArgumentException">A setting is missing or out of range.</exception>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(ClusterId), nameof(ClusterId),
            "GrpcTransportOptions.ClusterId must be set: every node of one cluster uses the same id, and calls with another id are refused.");
        Require(!string.IsNullOrWhiteSpace(NodeId), nameof(NodeId), "GrpcTransportOptions.NodeId must be set to this node's Raft id.");
        Require(IsHeaderSafe(ClusterId), nameof(ClusterId),
            $"GrpcTransportOptions.ClusterId '{ClusterId}' must be printable ASCII without spaces (it travels as a gRPC header).");
        Require(IsHeaderSafe(NodeId), nameof(NodeId),
            $"GrpcTransportOptions.NodeId '{NodeId}' must be printable ASCII without spaces (it travels as a gRPC header).");
        Require(InitialConfigurationId is null || InitialConfigurationId.Length > 0 && IsHeaderSafe(InitialConfigurationId), nameof(InitialConfigurationId),
            $"GrpcTransportOptions.InitialConfigurationId '{InitialConfigurationId}' must be null or printable ASCII without spaces (it travels as a gRPC header).");
        Require(TryParseHostPort(ListenAddress, out _, out _), nameof(ListenAddress),
            $"GrpcTransportOptions.ListenAddress '{ListenAddress}' must be host:port, for example 127.0.0.1:5001 (port 0 picks a free port).");
        Require(Peers is not null, nameof(Peers), "GrpcTransportOptions.Peers must not be null; use an empty dictionary for a single node.");
        foreach (var (id, address) in Peers!)
        {
            Require(!string.IsNullOrWhiteSpace(id) && IsHeaderSafe(id), nameof(Peers),
                $"GrpcTransportOptions.Peers has an invalid node id '{id}': use printable ASCII without spaces.");
            Require(id == NodeId || TryNormalizeAddress(address, Tls is not null, out _), nameof(Peers),
                $"GrpcTransportOptions.Peers['{id}'] = '{address}' is not an address: use host:port (for example 127.0.0.1:5002) or an http(s):// URI.");
        }

        Require(MaxMessageBytes >= 64 * 1024, nameof(MaxMessageBytes),
            $"GrpcTransportOptions.MaxMessageBytes must be at least 64 KiB (was {MaxMessageBytes}).");
        Require(MaxEntriesBytes >= 1 && MaxEntriesBytes <= MaxMessageBytes - 16 * 1024, nameof(MaxEntriesBytes),
            $"GrpcTransportOptions.MaxEntriesBytes ({MaxEntriesBytes}) must be positive and at least 16 KiB below MaxMessageBytes ({MaxMessageBytes}), which also holds the message headers.");
        Require(PerPeerQueueCapacity >= 1, nameof(PerPeerQueueCapacity),
            $"GrpcTransportOptions.PerPeerQueueCapacity must be at least 1 (was {PerPeerQueueCapacity}).");
        Require(MaxBatchBytes >= 1 && MaxBatchBytes <= MaxMessageBytes, nameof(MaxBatchBytes),
            $"GrpcTransportOptions.MaxBatchBytes ({MaxBatchBytes}) must be between 1 and MaxMessageBytes ({MaxMessageBytes}).");
        Require(MaxBatchMessages >= 1, nameof(MaxBatchMessages), $"GrpcTransportOptions.MaxBatchMessages must be at least 1 (was {MaxBatchMessages}).");
        Require(SnapshotChunkBytes >= 1 && SnapshotChunkBytes <= MaxMessageBytes - 16 * 1024, nameof(SnapshotChunkBytes),
            $"GrpcTransportOptions.SnapshotChunkBytes ({SnapshotChunkBytes}) must be positive and at least 16 KiB below MaxMessageBytes ({MaxMessageBytes}).");
        RequirePositive(ReconnectBackoffMin, nameof(ReconnectBackoffMin));
        RequirePositive(ReconnectBackoffMax, nameof(ReconnectBackoffMax));
        Require(ReconnectBackoffMax >= ReconnectBackoffMin, nameof(ReconnectBackoffMax),
            $"GrpcTransportOptions.ReconnectBackoffMax ({ReconnectBackoffMax}) must not be below ReconnectBackoffMin ({ReconnectBackoffMin}).");
        RequirePositive(ConnectTimeout, nameof(ConnectTimeout));
        RequirePositive(KeepAlivePingDelay, nameof(KeepAlivePingDelay));
        RequirePositive(KeepAlivePingTimeout, nameof(KeepAlivePingTimeout));
        RequirePositive(ForwardTimeout, nameof(ForwardTimeout));
        Tls?.Validate();
    }

    internal GrpcTransportOptions Clone()
    {
        var copy = (GrpcTransportOptions)MemberwiseClone();
        copy.Peers = new Dictionary<string, string>(Peers, StringComparer.Ordinal);
        return copy;
    }

    /// <summary>
    /// Whether <paramref name="value"/> can travel as a gRPC header value, as cluster ids and node ids do: printable
    /// ASCII without spaces.
    /// </summary>
    /// <param name="value">The id.</param>
    /// <returns>True when the transport takes it.</returns>
    public static bool IsHeaderSafe(string value) => value.All(c => c > ' ' && c < 127);

    internal static bool TryParseHostPort(string? value, out string host, out int port)
    {
        host = "";
        port = 0;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), out port) || port is < 0 or > 65535)
        {
            return false;
        }

        host = value[..colon].Trim('[', ']');
        return host.Length > 0 && (host == "localhost" || IPAddress.TryParse(host, out _) || Uri.CheckHostName(host) == UriHostNameType.Dns);
    }

    /// <summary>
    /// Whether <paramref name="address"/> can be a peer's address (<see cref="Peers"/>,
    /// <see cref="GrpcRaftTransport.SetPeer"/>): <c>host:port</c>, or an <c>http://</c> URI without TLS or an
    /// <c>https://</c> one with it, with a port and nothing after it.
    /// </summary>
    /// <param name="address">The address.</param>
    /// <param name="tls">Whether the transport uses TLS.</param>
    /// <returns>True when the transport takes the address.</returns>
    public static bool IsPeerAddress(string? address, bool tls) =>
        TryNormalizeAddress(address, tls, out var uri) && uri.Scheme == (tls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp)
        && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;

    // host:port becomes http://host:port (https:// with TLS); a URI is kept as it is.
    internal static bool TryNormalizeAddress(string? address, bool tls, out Uri uri)
    {
        uri = null!;
        if (string.IsNullOrWhiteSpace(address))
        {
            return false;
        }

        if (address.Contains("://", StringComparison.Ordinal))
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" && parsed.Port > 0)
            {
                uri = parsed;
                return true;
            }

            return false;
        }

        if (!TryParseHostPort(address, out var host, out var port) || port == 0)
        {
            return false;
        }

        var hostPart = IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host;
        uri = new Uri($"{(tls ? "https" : "http")}://{hostPart}:{port}");
        return true;
    }

    private static void Require(bool condition, string name, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, name);
        }
    }

    private static void RequirePositive(TimeSpan value, string name) =>
        Require(value > TimeSpan.Zero && value != Timeout.InfiniteTimeSpan, name,
            $"GrpcTransportOptions.{name} must be a positive, finite time span (was {value}).");
}
