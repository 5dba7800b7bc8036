using System.Net;
using System.Net.Sockets;

namespace Raft.Testing.Processes;

/// <summary>Loopback ports that were free a moment ago.</summary>
/// <remarks>
/// The port is released before the caller binds it, so another process could take it in between; on a test machine that
/// has not happened. Ports handed out by one process are never repeated by it, which matters when many are taken at once
/// (the OS may otherwise hand out a just-released port twice).
/// </remarks>
public static class FreePorts
{
    private static readonly HashSet<int> Given = [];

    /// <summary>A loopback TCP port that nobody listened on when asked, and that this process has not handed out before.</summary>
    /// <returns>The port.</returns>
    public static int Next()
    {
        lock (Given)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
