using Raft.Transport.Grpc.Security;

namespace Raft.Transport.Grpc.Client;

/// <summary>Configuration of a <see cref="GrpcRaftClient"/>.</summary>
public sealed class GrpcRaftClientOptions
{
    /// <summary>The cluster's id; nodes refuse calls that carry another. Required.</summary>
    public string ClusterId { get; set; } = "";

    /// <summary>Addresses of some or all nodes, as <c>host:port</c> or <c>http(s)://</c> URIs; the client tries them in turn. Required.</summary>
    public IList<string> Endpoints { get; set; } = [];

    /// <summary>TLS towards the nodes; null for plaintext HTTP/2. The certificate is presented when a node requires mutual TLS.</summary>
    public GrpcTlsOptions? Tls { get; set; }

    /// <summary>Deadline of one attempt. Defaults to 10 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one call may keep retrying refusals (no leader, leader changed, node down) before it fails. Defaults to 30 s.</summary>
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Pause between retries when no node could take the call. Defaults to 50 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Largest request or reply. Defaults to 32 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting to fix when the options are inconsistent.</summary>
    /// <exception cref="ArgumentException">A setting is missing or out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ClusterId) || !GrpcTransportOptions.IsHeaderSafe(ClusterId))
        {
            throw new ArgumentException("GrpcRaftClientOptions.ClusterId must be the cluster's id (printable ASCII, no spaces).", nameof(ClusterId));
        }

        if (Endpoints is null || Endpoints.Count == 0)
        {
            throw new ArgumentException("GrpcRaftClientOptions.Endpoints must list at least one node address, for example 127.0.0.1:5001.", nameof(Endpoints));
        }

        foreach (var endpoint in Endpoints)
        {
            if (!GrpcTransportOptions.TryNormalizeAddress(endpoint, Tls is not null, out _))
            {
                throw new ArgumentException(
                    $"GrpcRaftClientOptions.Endpoints has '{endpoint}', which is not an address: use host:port (for example 127.0.0.1:5001) or an http(s):// URI.",
                    nameof(Endpoints));
            }
        }

        foreach (var (value, name) in new[] { (AttemptTimeout, nameof(AttemptTimeout)), (RetryBudget, nameof(RetryBudget)), (RetryDelay, nameof(RetryDelay)) })
        {
            if (value <= TimeSpan.Zero || value == Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentException($"GrpcRaftClientOptions.{name} must be a positive, finite time span (was {value}).", name);
            }
        }

        if (MaxMessageBytes < 1024)
        {
            throw new ArgumentException($"GrpcRaftClientOptions.MaxMessageBytes must be at least 1024 (was {MaxMessageBytes}).", nameof(MaxMessageBytes));
        }

        Tls?.Validate();
    }
}
