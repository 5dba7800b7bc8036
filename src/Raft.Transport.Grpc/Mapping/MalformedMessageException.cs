namespace Raft.Transport.Grpc.Mapping;

// A message that parsed as protobuf but does not describe a valid Raft message; the message says what is wrong.
internal sealed class MalformedMessageException(string message) : Exception(message)
{
}
