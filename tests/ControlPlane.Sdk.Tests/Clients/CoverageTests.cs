using System.Reflection;
using ControlPlane.Api.V1;
using ControlPlane.Sdk.Clients;
using ControlPlane.Sdk.Internal;
using Google.Protobuf.Reflection;
using IdempotencyLevel = Google.Protobuf.Reflection.MethodOptions.Types.IdempotencyLevel;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>The SDK follows the protos: every method has a typed client, and retry/token rules are the descriptors' options.</summary>
public sealed class CoverageTests
{
    private static readonly FileDescriptor[] ApiFiles =
    [
        RegistryReflection.Descriptor, PolicyReflection.Descriptor, RouteReflection.Descriptor, DataplanesReflection.Descriptor,
        DiscoveryReflection.Descriptor, StatsReflection.Descriptor, BillingReflection.Descriptor, LoadReportReflection.Descriptor,
    ];

    private static readonly Type[] ClientInterfaces =
    [
        typeof(IRegistryClient), typeof(IPolicyClient), typeof(IRouteClient), typeof(IDataplaneClient),
        typeof(IDiscoveryClient), typeof(IStatsClient), typeof(IBillingClient), typeof(ILoadReportClient),
    ];

    [Fact]
    public void EveryControlPlaneMethod_HasATypedClientMethod_WithItsMessageTypes()
    {
        var methods = ApiFiles.SelectMany(f => f.Services).SelectMany(s => s.Methods).ToList();
        Assert.Equal(ApiFiles.Sum(f => f.Services.Count), ClientInterfaces.Length);
        Assert.Equal(23, methods.Count);
        var clientMethods = ClientInterfaces.SelectMany(i => i.GetMethods()).ToList();
        foreach (var method in methods)
        {
            var request = method.InputType.ClrType;
            var response = method.OutputType.ClrType;
            var match = clientMethods.Where(m => Takes(m, request, response)).ToList();
            Assert.True(match.Count == 1, $"{method.FullName}: {match.Count} typed client methods take {request.Name} and give {response.Name}");
        }
        Assert.Equal(methods.Count, clientMethods.Count);
    }

    [Fact]
    public void RetriesAndTokens_FollowTheDescriptorsOptions()
    {
        foreach (var method in ApiFiles.SelectMany(f => f.Services).SelectMany(s => s.Methods))
        {
            var options = method.GetOptions();
            var traits = MethodTraits.Of(method);
            var unary = !method.IsClientStreaming && !method.IsServerStreaming;
            Assert.Equal(unary && options?.IdempotencyLevel is IdempotencyLevel.Idempotent or IdempotencyLevel.NoSideEffects, traits.Retryable);
        }
        // What that yields today, as the protos say it.
        var admin = ApiFiles.SelectMany(f => f.Services).SelectMany(s => s.Methods).Where(m => MethodTraits.Of(m).AdminOnly).Select(m => m.Name);
        Assert.Equal(["SetPolicy", "DeletePolicy"], admin);
        var dataplane = ApiFiles.SelectMany(f => f.Services).SelectMany(s => s.Methods).Where(m => MethodTraits.Of(m).DataplaneOnly).Select(m => m.Name).Order();
        Assert.Equal(["DeltaResources", "ReportLoad", "StreamResources"], dataplane);
        Assert.False(MethodTraits.Of(RegistryReflection.Descriptor.Services[0].FindMethodByName("HeartbeatStream")).Retryable);
        Assert.False(MethodTraits.Of(TestCommon.InteropMethods.UnaryCall.Descriptor).Retryable);
    }

    private static bool Takes(MethodInfo method, Type request, Type response)
    {
        var returns = method.ReturnType;
        if (returns.IsGenericType && returns.GetGenericTypeDefinition() == typeof(Task<>))
        {
            return returns.GetGenericArguments()[0] == response && method.GetParameters().FirstOrDefault()?.ParameterType == request;
        }
        return returns.IsGenericType && returns.GetGenericTypeDefinition() == typeof(ControlPlaneStream<,>) && returns.GetGenericArguments().SequenceEqual([request, response]);
    }
}
