using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Raft.Transport.Grpc.Security;

// The loaded certificates of a GrpcTlsOptions and the checks both sides apply to the other's certificate.
internal sealed class TlsMaterial
{
    private readonly Dictionary<string, string> _certificateNames;

    private TlsMaterial(X509Certificate2 certificate, X509Certificate2? ca, GrpcTlsOptions options)
    {
        Certificate = certificate;
        Ca = ca;
        RequireClientCertificate = options.RequireClientCertificate;
        CheckName = options.CheckCertificateName;
        BindCertificateToNodeId = options.BindCertificateToNodeId;
        _certificateNames = new Dictionary<string, string>(options.CertificateNames, StringComparer.Ordinal);
    }

    public bool BindCertificateToNodeId { get; }

    public X509Certificate2 Certificate { get; }

    public X509Certificate2? Ca { get; }

    public bool RequireClientCertificate { get; }

    public bool CheckName { get; }

    public static TlsMaterial Load(GrpcTlsOptions options)
    {
        options.Validate();
        var certificate = options.Certificate ?? LoadCertificate(options);
        var ca = options.CaCertificate ?? (options.CaCertificatePath is { } caPath ? LoadCa(caPath) : null);
        return new TlsMaterial(certificate, ca, options);
    }

    // A server certificate, checked by the client: the name (unless switched off) and the chain to our CA.
    public bool ValidateServer(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        if (CheckName && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        return Ca is null ? (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0 : ChainsToCa(certificate, chain);
    }

    // A client certificate, checked by the server: only the chain (clients have no host name to match).
    public bool ValidateClient(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return !RequireClientCertificate;
        }

        return Ca is null ? (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0 : ChainsToCa(certificate, chain);
    }

    // The name a caller claiming to be `nodeId` must carry in its certificate.
    public string CertificateNameOf(string nodeId) => _certificateNames.GetValueOrDefault(nodeId, nodeId);

    // True when the certificate's subject CN is `name`, or one of its SAN DNS names is (DNS names ignore case).
    public static bool CarriesName(X509Certificate2 certificate, string name)
    {
        if (string.Equals(certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false), name, StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san &&
                san.EnumerateDnsNames().Any(dns => string.Equals(dns, name, StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    private bool ChainsToCa(X509Certificate certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    private static X509Certificate2 LoadCertificate(GrpcTlsOptions options)
    {
        var path = options.CertificatePath!;
        if (options.CertificateKeyPath is { } keyPath)
        {
            return options.CertificatePassword is { } password
                ? X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath)
                : X509Certificate2.CreateFromPemFile(path, keyPath);
        }

        return X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
    }

    private static X509Certificate2 LoadCa(string path)
    {
        var text = File.ReadAllText(path);
        return text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)
            ? X509Certificate2.CreateFromPem(text)
            : X509CertificateLoader.LoadCertificateFromFile(path);
    }
}
