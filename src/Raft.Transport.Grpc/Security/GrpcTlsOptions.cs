using System.Security.Cryptography.X509Certificates;

namespace Raft.Transport.Grpc.Security;

/// <summary>TLS for the Raft gRPC transport: this node's certificate, the CA that peers' certificates must chain to, and whether peers must present one (mutual TLS).</summary>
/// <remarks>
/// Give the certificate either as an <see cref="X509Certificate2"/> with its private key (<see cref="Certificate"/>)
/// or as files (<see cref="CertificatePath"/>: a PKCS#12 file, or a PEM certificate with <see cref="CertificateKeyPath"/>).
/// The CA likewise (<see cref="CaCertificate"/> or <see cref="CaCertificatePath"/>); without one, peers' certificates
/// must be trusted by the operating system. The certificate serves both directions: the server presents it, and the
/// client presents it to peers that require mutual TLS.
/// </remarks>
public sealed class GrpcTlsOptions
{
    /// <summary>This node's certificate, with its private key.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>A PKCS#12 (.pfx/.p12) file, or a PEM certificate file when <see cref="CertificateKeyPath"/> is set.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of the certificate in <see cref="CertificatePath"/>.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>The password of the PKCS#12 file or of the encrypted PEM key, if any.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The CA that every peer certificate must chain to (the only trust anchor when set).</summary>
    public X509Certificate2? CaCertificate { get; set; }

    /// <summary>A PEM or DER file with the CA certificate; used when <see cref="CaCertificate"/> is null.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>Mutual TLS: refuse callers without a certificate that chains to the CA. Defaults to true.</summary>
    public bool RequireClientCertificate { get; set; } = true;

    /// <summary>Check that a server certificate names the host it was reached at (SAN DNS name or IP). Defaults to true.</summary>
    public bool CheckCertificateName { get; set; } = true;

    /// <summary>
    /// Binds a caller's certificate to the node id it claims in the <c>raft-sender-id</c> header, so that a node with a
    /// valid certificate cannot speak as another node: the certificate's subject common name, or one of its SAN DNS
    /// names, must be the claimed node's certificate name (<see cref="CertificateNames"/>, else the node id itself).
    /// A caller that claims a node id without presenting a certificate is refused. Calls without a sender id
    /// (applications using the client service) are not affected. Defaults to true.
    /// </summary>
    public bool BindCertificateToNodeId { get; set; } = true;

    /// <summary>
    /// The certificate name of each node id, where it is not the node id itself (the convention): node id → the common
    /// name or SAN DNS name its certificate carries. Used when <see cref="BindCertificateToNodeId"/> is true.
    /// </summary>
    public IDictionary<string, string> CertificateNames { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting to fix when the options are inconsistent.</summary>
    /// <exception cref="ArgumentException">A setting is missing, contradicts another, or names a file that does not exist.</exception>
    public void Validate()
    {
        if (Certificate is null && string.IsNullOrWhiteSpace(CertificatePath))
        {
            throw new ArgumentException(
                "GrpcTlsOptions needs this node's certificate: set Certificate, or CertificatePath (PKCS#12, or PEM with CertificateKeyPath).",
                nameof(Certificate));
        }

        if (Certificate is not null && CertificatePath is not null)
        {
            throw new ArgumentException("GrpcTlsOptions: set either Certificate or CertificatePath, not both.", nameof(CertificatePath));
        }

        if (Certificate is { HasPrivateKey: false })
        {
            throw new ArgumentException("GrpcTlsOptions.Certificate has no private key; a node needs its key to serve TLS.", nameof(Certificate));
        }

        RequireFile(CertificatePath, nameof(CertificatePath));
        RequireFile(CertificateKeyPath, nameof(CertificateKeyPath));
        RequireFile(CaCertificatePath, nameof(CaCertificatePath));
        if (CertificateNames is null || CertificateNames.Any(n => string.IsNullOrWhiteSpace(n.Key) || string.IsNullOrWhiteSpace(n.Value)))
        {
            throw new ArgumentException("GrpcTlsOptions.CertificateNames must map node ids to non-empty certificate names (or be empty: the name is the node id).", nameof(CertificateNames));
        }

        if (CaCertificate is not null && CaCertificatePath is not null)
        {
            throw new ArgumentException("GrpcTlsOptions: set either CaCertificate or CaCertificatePath, not both.", nameof(CaCertificatePath));
        }
    }

    private static void RequireFile(string? path, string name)
    {
        if (path is not null && !File.Exists(path))
        {
            throw new ArgumentException($"GrpcTlsOptions.{name} names '{path}', which does not exist.", name);
        }
    }
}
