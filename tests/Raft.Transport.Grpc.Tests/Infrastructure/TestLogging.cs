using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Raft.Transport.Grpc.Tests.Infrastructure;

// Logs stay quiet in tests unless RAFT_TEST_LOG=1 (then warnings and up go to the console).
public static class TestLogging
{
    public static readonly ILoggerFactory Factory = Environment.GetEnvironmentVariable("RAFT_TEST_LOG") == "1"
        ? LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning))
        : NullLoggerFactory.Instance;
}
