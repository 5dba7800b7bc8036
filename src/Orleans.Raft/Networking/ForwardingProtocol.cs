using Grpc.Core;

namespace Orleans.Raft.Networking;

/// <summary>The forwarding stream's gRPC method and headers.</summary>
internal static class ForwardingProtocol
{
    public const string ClusterHeader = "orleans-raft-group";
    public const string SenderHeader = "orleans-raft-sender";

    // A frame holds what was queued, up to about this much (always at least one command).
    public const int MaxFrameBytes = 1024 * 1024;

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(static b => b, static b => b);

    public static readonly Method<byte[], byte[]> Forward = new(MethodType.DuplexStreaming, "orleansraft.forwarding.v1.Forwarding", "Forward", Bytes, Bytes);

    // One membership change (MembershipFrames), carried out by the leader's silo before it answers.
    public static readonly Method<byte[], byte[]> ChangeMembership = new(MethodType.Unary, "orleansraft.forwarding.v1.Forwarding", "ChangeMembership", Bytes, Bytes);
}

/// <summary>
/// What grpc-dotnet binds: it looks for a virtual method named after the gRPC method, declared on the type that
/// <c>BindService</c> takes, and overridden by the service (the shape protoc would generate).
/// </summary>
[BindServiceMethod(typeof(ForwardingServiceBase), nameof(BindService))]
internal abstract class ForwardingServiceBase
{
    public static void BindService(ServiceBinderBase binder, ForwardingServiceBase? service)
    {
        binder.AddMethod(ForwardingProtocol.Forward, service is null ? null : service.Forward);
        binder.AddMethod(ForwardingProtocol.ChangeMembership, service is null ? null : service.ChangeMembership);
    }

    public abstract Task Forward(IAsyncStreamReader<byte[]> requests, IServerStreamWriter<byte[]> responses, ServerCallContext call);

    public abstract Task<byte[]> ChangeMembership(byte[] request, ServerCallContext call);
}
