using Raft.Core.Transport;
using Raft.Testing.Conformance;
using Raft.Transport.Grpc.Tests.Infrastructure;

namespace Raft.Transport.Grpc.Tests;

// The shared IRaftTransport contract, over real gRPC servers on loopback.
public sealed class GrpcTransportConformanceTests : TransportConformance
{
    protected override async ValueTask<IReadOnlyList<IRaftTransport>> CreateTransportsAsync(IReadOnlyList<string> nodeIds) =>
        await TestNode.StartConnectedAsync(nodeIds);
}
