using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Raft.Transport.Grpc.Mapping;
using Raft.Transport.Grpc.Security;
using Raft.Transport.Grpc.Services;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Client;

/// <summary>An application's client of a Raft cluster served by <see cref="Hosting.GrpcRaftServer"/> (or <see cref="Hosting.RaftGrpcEndpointRouteBuilderExtensions.MapRaftGrpcServices"/>).</summary>
/// <remarks>
/// <para>
/// A call goes to the node that last answered, which forwards it to the leader when it is a follower; when a node
/// answers that it is not the leader, the client follows the leader hint or tries the next endpoint. It retries, within
/// <see cref="GrpcRaftClientOptions.RetryBudget"/>, only what was certainly not applied: a refusal, or a node it could
/// not connect to. A call that broke after it was sent fails with <see cref="RaftClientException.OutcomeUnknown"/>.
/// </para>
/// <para>
/// Proposals and reads travel on one long-lived streamed call per node, shared by all concurrent calls of this client:
/// commands that are waiting to be sent leave together in one frame, and the node answers each by id as it completes.
/// A follower's answer names the leader, and later calls go to the leader directly.
/// </para>
/// <para>Thread-safe; meant to be shared. Many concurrent calls share one HTTP/2 connection per node.</para>
/// </remarks>
public sealed class GrpcRaftClient : IAsyncDisposable, IDisposable
{
    private readonly GrpcRaftClientOptions _options;
    private readonly TlsMaterial? _tls;
    private readonly Uri[] _endpoints;
    private readonly ConcurrentDictionary<Uri, GrpcChannel> _channels = new();
    private readonly ConcurrentDictionary<Uri, CommandStream> _streams = new();
    private readonly Metadata _headers;
    private volatile Uri _preferred;

    // Where proposals go first: the leader once a follower named it (reads stay on _preferred, which can serve them).
    private volatile Uri? _preferredWriter;
    private volatile bool _disposed;

    // The stream the last call used, with its endpoint.
    private volatile LastStream? _lastStream;

    /// <summary>Creates a client; it connects on the first call.</summary>
    /// <param name="options">The configuration; validated here.</param>
    /// <exception cref="ArgumentException">The options are inconsistent; the message names the setting.</exception>
    public GrpcRaftClient(GrpcRaftClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _tls = options.Tls is { } tls ? TlsMaterial.Load(tls) : null;
        _endpoints = [.. options.Endpoints.Select(e =>
        {
            GrpcTransportOptions.TryNormalizeAddress(e, _tls is not null, out var uri);
            return uri;
        })];
        _preferred = _endpoints[0];
        _headers = new Metadata { { CallHeaders.ClusterId, options.ClusterId } };
    }

    /// <summary>Replicates <paramref name="command"/> and returns the state machine's result once the leader applied it.</summary>
    /// <param name="command">The command.</param>
    /// <param name="cancellationToken">Abandons the call; the command may still be applied.</param>
    /// <returns>The log index and the result.</returns>
    /// <exception cref="RaftClientException">The cluster did not apply it within the retry budget, or the outcome is unknown.</exception>
    public Task<RaftCommandResult> ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken = default) =>
        ExecuteAsync(command, read: false, cancellationToken);

    /// <summary>A linearizable read: the state machine answers <paramref name="query"/> with a state at least as new as every write acknowledged before the call.</summary>
    /// <param name="query">The query, in the state machine's own format.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="RaftClientException">The cluster did not answer within the retry budget, or the outcome is unknown.</exception>
    public Task<RaftCommandResult> ReadAsync(ReadOnlyMemory<byte> query, CancellationToken cancellationToken = default) =>
        ExecuteAsync(query, read: true, cancellationToken);

    /// <summary>Asks one node for its status and, with <paramref name="includePeers"/>, that of every node it knows.</summary>
    /// <param name="includePeers">Also ask the node's peers.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    /// <returns>The statuses, the asked node first.</returns>
    /// <exception cref="RaftClientException">No endpoint answered.</exception>
    public async Task<IReadOnlyList<RaftNodeStatus>> GetStatusAsync(bool includePeers = true, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        RpcException? last = null;
        foreach (var endpoint in _endpoints.OrderBy(e => e == _preferred ? 0 : 1))
        {
            try
            {
                var reply = await Client(endpoint).GetStatusAsync(
                    new Proto.StatusRequest { IncludePeers = includePeers }, _headers, DateTime.UtcNow + _options.AttemptTimeout, cancellationToken).ConfigureAwait(false);
                return [.. reply.Nodes.Select((n, i) =>
                {
                    var status = ClientMapper.FromProto(n);
                    return i == 0 && status.Address is null ? status with { Address = endpoint.ToString() } : status;
                })];
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                last = ex;
            }
        }

        throw new RaftClientException($"No node answered a status request: {last?.Status.Detail}", outcomeUnknown: false, last);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _lastStream = null;
        foreach (var stream in _streams.Values)
        {
            stream.Close();
        }

        _streams.Clear();
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        _channels.Clear();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<RaftCommandResult> ExecuteAsync(ReadOnlyMemory<byte> payload, bool read, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var bytes = UnsafeByteOperations.UnsafeWrap(payload);
        var started = Environment.TickCount64;
        var target = read ? _preferred : _preferredWriter ?? _preferred;
        var refusals = 0;
        string? lastRefusal = null;
        while (true)
        {
            try
            {
                var reply = await Stream(target).SendAsync(bytes, read, _options.AttemptTimeout, cancellationToken).ConfigureAwait(false);
                switch (reply.Outcome)
                {
                    case Proto.Outcome.Applied:
                        _preferred = target;
                        if (!read)
                        {
                            // A follower forwarded it and named the leader: proposals go there directly from now on.
                            _preferredWriter = reply.LeaderAddress.Length > 0 && Uri.TryCreate(reply.LeaderAddress, UriKind.Absolute, out var writer) ? writer : target;
                        }
                        return new RaftCommandResult(reply.Index, reply.Result.Memory, reply.ServedBy);
                    case Proto.Outcome.NotLeader when reply.LeaderAddress.Length > 0 && Uri.TryCreate(reply.LeaderAddress, UriKind.Absolute, out var leader)
                                                      && leader != target && refusals % 4 != 3:
                        target = leader;
                        break;
                    default:
                        target = Next(target);
                        await Task.Delay(_options.RetryDelay, cancellationToken).ConfigureAwait(false);
                        break;
                }

                lastRefusal = $"{reply.Outcome} from {reply.ServedBy}: {reply.Detail}";
                refusals++;
            }
            catch (CommandNotSentException ex) when (!cancellationToken.IsCancellationRequested && ex.Rpc.StatusCode is not (
                StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.ResourceExhausted or StatusCode.FailedPrecondition))
            {
                lastRefusal = $"{target} unreachable: {ex.Rpc.Status.Detail}";
                target = Next(target);
                await Task.Delay(_options.RetryDelay, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && RaftClientService.NeverSent(ex))
            {
                lastRefusal = $"{target} unreachable: {ex.Status.Detail}";
                target = Next(target);
                await Task.Delay(_options.RetryDelay, cancellationToken).ConfigureAwait(false);
            }
            catch (CommandNotSentException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new RaftClientException(
                    $"{target} refused the {(read ? "read" : "command")} (not applied): {ex.Rpc.StatusCode}: {ex.Rpc.Status.Detail}", outcomeUnknown: false, ex.Rpc);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                var unknown = ex.StatusCode is not (StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.Unauthenticated
                    or StatusCode.ResourceExhausted or StatusCode.FailedPrecondition);
                throw new RaftClientException(
                    $"The {(read ? "read" : "command")} sent to {target} failed{(unknown ? "; it may or may not have been applied" : "")}: {ex.StatusCode}: {ex.Status.Detail}",
                    unknown,
                    ex);
            }

            if (Environment.TickCount64 - started > (long)_options.RetryBudget.TotalMilliseconds)
            {
                throw new RaftClientException(
                    $"The cluster did not take the {(read ? "read" : "command")} within {_options.RetryBudget}; last refusal: {lastRefusal}", outcomeUnknown: false);
            }
        }
    }

    private Uri Next(Uri current)
    {
        var i = Array.IndexOf(_endpoints, current);
        return _endpoints[(i + 1) % _endpoints.Length];
    }

    private Proto.RaftClient.RaftClientClient Client(Uri endpoint) => new(Channel(endpoint));

    private GrpcChannel Channel(Uri endpoint) => _channels.GetOrAdd(endpoint, e => GrpcChannels.Create(
        e, _options.MaxMessageBytes, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), _tls));

    // The node's command stream; a broken one is replaced (its commands have failed already).
    private CommandStream Stream(Uri endpoint)
    {
        // Nearly every call goes to the endpoint the previous one used: no dictionary lookup (and no hashing of the
        // whole address) for it.
        if (_lastStream is { } last && ReferenceEquals(last.Endpoint, endpoint) && !last.Stream.IsBroken)
        {
            return last.Stream;
        }

        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_streams.TryGetValue(endpoint, out var stream))
            {
                if (!stream.IsBroken)
                {
                    _lastStream = new LastStream(endpoint, stream);
                    return stream;
                }

                _streams.TryRemove(new KeyValuePair<Uri, CommandStream>(endpoint, stream));
                continue;
            }

            var created = new CommandStream(Channel(endpoint), _headers, _options.MaxMessageBytes);
            if (_streams.TryAdd(endpoint, created))
            {
                _lastStream = new LastStream(endpoint, created);
                return created;
            }

            created.Close();
        }
    }

    private sealed record LastStream(Uri Endpoint, CommandStream Stream);
}
