"""Small literal answers of real peers (BIRD 2.0.12, FRR 8.4.4) for the routing parser tests.

Captured from two namespaces of this project's peer tests (router ids 10.69.1.1 on BIRD and
10.69.2.2 on FRR, one veth 198.18.250.0/30); trimmed, values unchanged.
"""

# BIRD 2's control socket, raw: reply codes, continuation lines, the end-of-reply line.
BIRD2_SOCKET = (
    "1016-\n area 0.0.0.0\n \n \trouter 10.69.1.1\n \t\tdistance 0\n"
    " \t\trouter 10.69.2.2 metric 10\n \t\tstubnet 198.18.250.0/30 metric 10\n"
    " \t\texternal 10.96.0.64/26 metric2 10000\n \n \trouter 10.69.2.2\n \t\tunreachable\n"
    " \t\tnetwork 198.18.250.0/30 metric 15\n \t\texternal 10.96.0.128/26 metric2 20\n \n"
    " \tnetwork 198.18.250.0/30\n \t\tdr 10.69.2.2\n \t\tunreachable\n \t\trouter 10.69.1.1\n"
    " \t\trouter 10.69.2.2\n0000 \n"
)

FRR_ROUTER = {
    "routerId": "10.69.2.2",
    "routerLinkStates": {
        "areas": {
            "0.0.0.0": [
                {
                    "lsaType": "router-LSA",
                    "linkStateId": "10.69.1.1",
                    "advertisingRouter": "10.69.1.1",
                    "numOfLinks": 2,
                    "routerLinks": {
                        "link0": {
                            "linkType": "another Router (point-to-point)",
                            "neighborRouterId": "10.69.2.2",
                            "routerInterfaceAddress": "198.18.250.1",
                            "numOfTosMetrics": 0,
                            "tos0Metric": 10,
                        },
                        "link1": {
                            "linkType": "Stub Network",
                            "networkAddress": "198.18.250.0",
                            "networkMask": "255.255.255.252",
                            "numOfTosMetrics": 0,
                            "tos0Metric": 10,
                        },
                    },
                },
                {
                    "lsaType": "router-LSA",
                    "linkStateId": "10.69.2.2",
                    "advertisingRouter": "10.69.2.2",
                    "numOfLinks": 1,
                    "routerLinks": {
                        "link0": {
                            "linkType": "a Transit Network",
                            "designatedRouterAddress": "198.18.250.2",
                            "routerInterfaceAddress": "198.18.250.2",
                            "numOfTosMetrics": 0,
                            "tos0Metric": 15,
                        }
                    },
                },
            ]
        }
    },
}

FRR_NETWORK = {
    "routerId": "10.69.2.2",
    "networkLinkStates": {
        "areas": {
            "0.0.0.0": [
                {
                    "lsaType": "network-LSA",
                    "linkStateId": "198.18.250.2",
                    "advertisingRouter": "10.69.2.2",
                    "networkMask": 30,
                    "attchedRouters": {
                        "10.69.1.1": {"attachedRouterId": "10.69.1.1"},
                        "10.69.2.2": {"attachedRouterId": "10.69.2.2"},
                    },
                }
            ]
        }
    },
}

FRR_EXTERNAL = {
    "routerId": "10.69.2.2",
    "asExternalLinkStates": [
        {
            "lsaType": "AS-external-LSA",
            "linkStateId": "10.96.0.64",
            "advertisingRouter": "10.69.1.1",
            "networkMask": 26,
            "metricType": "E2 (Larger than any link state path)",
            "metric": 10000,
            "forwardAddress": "0.0.0.0",
            "externalRouteTag": 0,
        },
        {
            "lsaType": "AS-external-LSA",
            "linkStateId": "10.96.0.128",
            "advertisingRouter": "10.69.2.2",
            "networkMask": 26,
            "metricType": "E1",
            "metric": 20,
            "forwardAddress": "198.18.250.9",
            "externalRouteTag": 7,
        },
    ],
}
