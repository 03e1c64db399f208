using ControlPlane.Api.V1;
using Google.Protobuf.Reflection;

namespace ControlPlane.Agents.Runtime;

/// <summary>The descriptors of the methods agents call: named in logs and in dry-run prints, which read their admin_only option.</summary>
internal static class Rpcs
{
    public static MethodDescriptor Registry(string name) => Find(RegistryReflection.Descriptor.Services[0], name);

    public static MethodDescriptor Policy(string name) => Find(PolicyReflection.Descriptor.Services[0], name);

    public static MethodDescriptor Stats(string name) => Find(StatsReflection.Descriptor.Services[0], name);

    public static MethodDescriptor Dataplanes(string name) => Find(DataplanesReflection.Descriptor.Services[0], name);

    public static string Name(MethodDescriptor method) => $"{method.Service.FullName}/{method.Name}";

    private static MethodDescriptor Find(ServiceDescriptor service, string name) =>
        service.FindMethodByName(name) ?? throw new InvalidOperationException($"{service.FullName} has no method {name}.");
}
