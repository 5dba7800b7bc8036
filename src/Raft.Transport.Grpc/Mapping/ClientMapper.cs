using Google.Protobuf;
using Raft.Core.Engine;
using Raft.Core.Runtime;
using Raft.Transport.Grpc.Client;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Mapping;

// Client-service types: node status and command outcomes, between Raft.Core/public client types and protobuf.
internal static class ClientMapper
{
    public static Proto.NodeStatus ToProto(RaftStatus status, string? address)
    {
        var proto = new Proto.NodeStatus
        {
            Id = status.Id,
            Address = address ?? "",
            Reachable = true,
            Role = ToProto(status.Role),
            Term = status.Term,
            LeaderId = status.LeaderId ?? "",
            CommitIndex = status.CommitIndex,
            AppliedIndex = status.AppliedIndex,
            LastIndex = status.LastIndex,
        };

        if (status.Configuration is { } configuration)
        {
            proto.Voters.AddRange(configuration.Voters);
            proto.Learners.AddRange(configuration.Learners);
        }

        return proto;
    }

    public static Proto.NodeStatus Unreachable(string id, string? address, string error) =>
        new() { Id = id, Address = address ?? "", Reachable = false, Error = error };

    public static RaftNodeStatus FromProto(Proto.NodeStatus proto) => new(
        proto.Id,
        NullIfEmpty(proto.Address),
        proto.Reachable,
        NullIfEmpty(proto.Error),
        FromProto(proto.Role),
        proto.Term,
        NullIfEmpty(proto.LeaderId),
        proto.CommitIndex,
        proto.AppliedIndex,
        proto.LastIndex,
        [.. proto.Voters],
        [.. proto.Learners]);

    public static Proto.CommandReply Applied(ProposalResult result, string servedBy) => new()
    {
        Outcome = Proto.Outcome.Applied,
        Index = result.Index,
        Result = result.Response.IsEmpty ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(result.Response),
        ServedBy = servedBy,
    };

    public static Proto.CommandReply Refused(Proto.Outcome outcome, string servedBy, string detail, string? leaderId = null, Uri? leaderAddress = null) => new()
    {
        Outcome = outcome,
        ServedBy = servedBy,
        Detail = detail,
        LeaderId = leaderId ?? "",
        LeaderAddress = leaderAddress?.ToString() ?? "",
    };

    private static Proto.Role ToProto(StateRole role) => role switch
    {
        StateRole.Follower => Proto.Role.Follower,
        StateRole.PreCandidate => Proto.Role.PreCandidate,
        StateRole.Candidate => Proto.Role.Candidate,
        StateRole.Leader => Proto.Role.Leader,
        _ => Proto.Role.Unknown,
    };

    private static StateRole? FromProto(Proto.Role role) => role switch
    {
        Proto.Role.Follower => StateRole.Follower,
        Proto.Role.PreCandidate => StateRole.PreCandidate,
        Proto.Role.Candidate => StateRole.Candidate,
        Proto.Role.Leader => StateRole.Leader,
        _ => null,
    };

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
